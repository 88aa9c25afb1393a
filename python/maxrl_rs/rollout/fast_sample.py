"""A lean sampling loop for small Llama/Qwen2 models: the same distribution as ``model.generate``, faster.

On the built-in tasks' tiny models (~0.3M parameters) ``generate`` spends its time on bookkeeping rather
than arithmetic: it prefills every one of a prompt's N copies, grows its KV cache by concatenation at every
token, and keeps computing rows that have already ended. This loop runs the model's own modules (embedding,
norms, projections, MLP, rotary embedding, LM head) with

- one prefill per distinct prompt, its keys and values copied to the prompt's N rows;
- a preallocated KV cache written in place;
- finished rows dropped from the batch (the cache is compacted when at most half the rows are still going).

Scores are shaped by :func:`maxrl_rs.rollout.logprobs.shape_logits` (temperature, then transformers' own
top-k, top-p and min-p warpers in ``generate``'s order) and sampled with ``torch.multinomial`` from torch's
global RNG, so the distribution is exactly ``generate``'s (not the same random stream). Positions are
counted over real tokens as in :mod:`maxrl_rs.rollout.logprobs`, so the training pass recomputes the same
log-probabilities (tested to float32 rounding).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from maxrl_rs.rollout.base import SamplingParams
from maxrl_rs.rollout.logprobs import shape_logits

ARCHITECTURES = ("llama", "qwen2")


def supports(model: Any) -> bool:
    """Whether :func:`sample` reproduces ``model``'s forward pass: a plain Llama or Qwen2 causal LM (full
    attention, the standard pre-norm block), unwrapped (FSDP2-sharded is fine: :func:`sample` gathers it)."""
    cfg = getattr(model, "config", None)
    inner = getattr(model, "model", None)
    if cfg is None or inner is None or getattr(cfg, "model_type", None) not in ARCHITECTURES:
        return False
    if getattr(cfg, "use_sliding_window", False):
        return False
    layer_types = getattr(cfg, "layer_types", None)
    if layer_types and any(t != "full_attention" for t in layer_types):
        return False
    return all(hasattr(inner, a) for a in ("embed_tokens", "layers", "norm", "rotary_emb")) and hasattr(
        model, "lm_head"
    )


class _Cache:
    """Per-layer keys and values ``[rows, kv_heads, width, head_dim]``, written in place."""

    def __init__(self, layers: int, rows: int, heads: int, width: int, head_dim: int, like: Any) -> None:
        import torch

        shape = (rows, heads, width, head_dim)
        self.k = [torch.empty(shape, dtype=like.dtype, device=like.device) for _ in range(layers)]
        self.v = [torch.empty(shape, dtype=like.dtype, device=like.device) for _ in range(layers)]

    def keep(self, rows: Any) -> None:
        self.k = [k.index_select(0, rows) for k in self.k]
        self.v = [v.index_select(0, rows) for v in self.v]


def _attention(layer: Any, h: Any, cos: Any, sin: Any, cache: _Cache, i: int, at: int, mask: Any) -> Any:
    """One layer's self-attention for the tokens ``h`` ``[b, s, C]`` at cache positions ``at .. at+s−1``;
    ``mask`` ``[b, 1, s, at+s]`` (True = attend)."""
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    attn = layer.self_attn
    b, s, _ = h.shape
    d = attn.head_dim
    q = attn.q_proj(h).view(b, s, -1, d).transpose(1, 2)
    k = attn.k_proj(h).view(b, s, -1, d).transpose(1, 2)
    v = attn.v_proj(h).view(b, s, -1, d).transpose(1, 2)
    q, k = apply_rotary_pos_emb(q, k, cos, sin)
    cache.k[i][:, :, at : at + s] = k
    cache.v[i][:, :, at : at + s] = v
    keys, values = cache.k[i][:, :, : at + s], cache.v[i][:, :, : at + s]
    out = torch.nn.functional.scaled_dot_product_attention(
        q, keys, values, attn_mask=mask, scale=attn.scaling, enable_gqa=keys.shape[1] != q.shape[1]
    )
    return attn.o_proj(out.transpose(1, 2).reshape(b, s, -1))


def _forward(model: Any, ids: Any, positions: Any, cache: _Cache, at: int, mask: Any) -> Any:
    """Last-position logits ``[b, V]`` (float32) of tokens ``ids`` ``[b, s]``, writing their keys/values."""
    inner = model.model
    x = inner.embed_tokens(ids)
    cos, sin = inner.rotary_emb(x, positions)
    for i, layer in enumerate(inner.layers):
        x = x + _attention(layer, layer.input_layernorm(x), cos, sin, cache, i, at, mask)
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return model.lm_head(inner.norm(x[:, -1:, :]))[:, 0, :].float()


def sample(
    model: Any,
    prompt_ids: Any,
    prompt_mask: Any,
    sampling: SamplingParams,
    *,
    eos_ids: Sequence[int],
    pad_id: int,
) -> tuple[Any, Any]:
    """Sample ``sampling.n`` responses to each left-padded prompt.

    Args:
        prompt_ids, prompt_mask: ``[P, W]`` left-padded prompts and their attention mask.
        sampling: n per prompt (rows come out prompt-major), temperature (0: greedy), top-k, top-p, min-p
            and ``max_new_tokens`` (EOS included), as ``generate`` applies them.
        eos_ids: tokens that end a response; pad_id fills the rest of the row.

    Returns:
        ``(response_ids, logprobs)``: ``[P·n, T]`` long, T the longest response (≤ max_new_tokens), and
        ``[P·n, T]`` float32 log-probabilities of each sampled token under the sampler's shaped scores
        (``Rollouts.sampler_logp``; at temperature 1 without truncation, the model's own), 0 at padding.
    """
    import torch

    if prompt_ids.ndim != 2 or prompt_ids.shape != prompt_mask.shape:
        raise ValueError(
            f"prompt_ids and prompt_mask must be [P, W] alike, got {prompt_ids.shape}, {prompt_mask.shape}"
        )
    with _gathered(model):
        n, max_new_tokens = sampling.n, sampling.max_new_tokens
        cfg = model.config
        device = prompt_ids.device
        num_prompts, width = prompt_ids.shape
        rows = num_prompts * n
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        like = model.lm_head.weight
        cache = _Cache(len(model.model.layers), num_prompts, cfg.num_key_value_heads, width, head_dim, like)
        out = torch.full((rows, max(max_new_tokens, 0)), pad_id, dtype=torch.long, device=device)
        logps = torch.zeros((rows, max(max_new_tokens, 0)), dtype=torch.float32, device=device)
        if max_new_tokens <= 0 or rows == 0:
            return out[:, :0], logps[:, :0]
        keep = prompt_mask.bool()
        positions = (prompt_mask.long().cumsum(1) - 1).clamp(min=0)
        causal = torch.ones((width, width), dtype=torch.bool, device=device).tril()
        # Padding queries attend to themselves only, so no row of the mask is empty (SDPA would give NaN).
        eye = torch.eye(width, dtype=torch.bool, device=device)
        mask = (causal & keep[:, None, None, :]) | eye
        logits = _forward(model, prompt_ids, positions, cache, 0, mask)
        # Every row of a prompt shares its prefill: copy its keys/values into a cache wide enough for the
        # response.
        full = _Cache(0, 0, 0, 0, 0, like)
        for src_k, src_v in zip(cache.k, cache.v, strict=True):
            k = torch.empty(
                (rows, src_k.shape[1], width + max_new_tokens, head_dim), dtype=like.dtype, device=device
            )
            v = torch.empty_like(k)
            k[:, :, :width] = src_k.repeat_interleave(n, dim=0)
            v[:, :, :width] = src_v.repeat_interleave(n, dim=0)
            full.k.append(k)
            full.v.append(v)
        cache = full
        logits = logits.repeat_interleave(n, dim=0)
        key_mask = torch.ones((rows, width + max_new_tokens), dtype=torch.bool, device=device)
        key_mask[:, :width] = keep.repeat_interleave(n, dim=0)
        next_pos = (positions[:, -1] + 1).repeat_interleave(n, dim=0)
        eos = torch.as_tensor(list(eos_ids), dtype=torch.long, device=device)
        alive = torch.arange(rows, device=device)  # original row of each row of the batch
        running = torch.ones(rows, dtype=torch.bool, device=device)  # rows of the batch not yet ended
        steps = 0
        for t in range(max_new_tokens):
            scores = shape_logits(logits, sampling)
            if sampling.temperature == 0:
                tok = scores.argmax(dim=-1)
            else:
                tok = torch.multinomial(torch.softmax(scores, dim=-1), 1).squeeze(1)
            logp = torch.log_softmax(scores, dim=-1).gather(1, tok[:, None]).squeeze(1)
            out[alive[running], t] = tok[running]
            logps[alive[running], t] = logp[running]
            steps = t + 1
            running &= ~torch.isin(tok, eos)
            live = int(running.sum())
            if t == max_new_tokens - 1 or live == 0:
                break
            # Ended rows run on (their tokens are not written) until at most half the batch is still going;
            # then they leave it for good. Compacting every time a row ends would copy the cache too often.
            if live * 2 <= len(alive):
                idx = running.nonzero().squeeze(1)
                alive, tok, next_pos, key_mask, running = (
                    alive[idx],
                    tok[idx],
                    next_pos[idx],
                    key_mask[idx],
                    running[idx],
                )
                cache.keep(idx)
            at = width + t
            logits = _forward(
                model, tok[:, None], next_pos[:, None], cache, at, key_mask[:, None, None, : at + 1]
            )
            next_pos = next_pos + 1
        return out[:, :steps], logps[:, :steps]


@contextlib.contextmanager
def _gathered(model: Any) -> Iterator[None]:
    """FSDP2 gathers parameters in hooks around each sharded module's own forward, which this loop does not
    call: gather every sharded module for the whole loop, then reshard those a forward pass would have
    resharded (not the root, nor layers kept gathered for generation: distributed.gathered_for_generation).
    A no-op for unsharded models."""
    sharded = [m for m in model.modules() if callable(getattr(m, "unshard", None)) and hasattr(m, "reshard")]
    for m in sharded:
        m.unshard()
    try:
        yield
    finally:
        for m in sharded:
            if _reshards_after_forward(m):
                m.reshard()


def _reshards_after_forward(module: Any) -> bool:
    """Whether an FSDP2 module frees its gathered parameters after a forward pass (its param group's
    post-forward mesh is None when it keeps them, as for the root module)."""
    group = getattr(module._get_fsdp_state(), "_fsdp_param_group", None)
    return group is not None and getattr(group, "post_forward_mesh_info", None) is not None


def generate_chunk(
    model: Any, ids: Any, mask: Any, sampling: SamplingParams, eos_ids: Sequence[int], pad_id: int
) -> tuple[Any, Any, Any, Any]:
    """What ``HFBackend`` gets from one ``generate`` call: ``[P·n, W]`` prompt ids and mask (each prompt
    repeated n times), ``[P·n, T]`` response ids and, if ``sampling.logprobs``, their sampler log-probs."""
    response, logp = sample(model, ids, mask, sampling, eos_ids=eos_ids, pad_id=pad_id)
    n = sampling.n
    return (
        ids.repeat_interleave(n, dim=0),
        mask.repeat_interleave(n, dim=0),
        response,
        logp if sampling.logprobs else None,
    )
