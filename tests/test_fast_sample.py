"""The lean sampling loop: same distribution as ``generate``, log-probs equal to the training pass."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from maxrl_rs.models import TinyModelSpec, tiny_model  # noqa: E402
from maxrl_rs.rollout import (  # noqa: E402
    Rollouts,
    SamplingParams,
    fast_sample,
    token_logprobs,
)
from maxrl_rs.rollout.hf import HFBackend, eos_mask, left_pad  # noqa: E402
from maxrl_rs.tasks import MazeOptions, MazeTask  # noqa: E402


def _setup(arch: str = "llama", seed: int = 0, kv_heads: int | None = None):
    task = MazeTask(MazeOptions(5), seed=0, eval_seed=1, eval_size=2)
    tok = task.build_tokenizer()
    torch.manual_seed(seed)
    spec = TinyModelSpec(arch=arch, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64)
    model = tiny_model(spec, tok)
    if kv_heads is not None:  # grouped-query attention: rebuild with fewer key/value heads
        from transformers import AutoModelForCausalLM

        model.config.num_key_value_heads = kv_heads
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(model.config)
    model.eval()
    prompts = [task.prompt_ids(task.train_example(i), tok) for i in range(3)]
    prompts[1] = prompts[1][5:]  # ragged lengths: left padding
    prompts[2] = prompts[2][9:]
    return model, tok, prompts


def _sample(model, tok, prompts, n=4, max_new_tokens=8, **kw):
    ids, mask = left_pad(prompts, tok.pad_token_id, "cpu")
    sampling = SamplingParams(n=n, max_new_tokens=max_new_tokens, **kw)
    resp, logp = fast_sample.sample(
        model, ids, mask, sampling, eos_ids=[tok.eos_token_id], pad_id=tok.pad_token_id
    )
    return ids, mask, resp, logp


@pytest.mark.parametrize(("arch", "kv_heads"), [("llama", None), ("qwen2", None), ("llama", 2)])
def test_logprobs_equal_the_training_pass(arch, kv_heads):
    model, tok, prompts = _setup(arch, kv_heads=kv_heads)
    assert fast_sample.supports(model)
    torch.manual_seed(1)
    ids, mask, resp, logp = _sample(model, tok, prompts, n=5, max_new_tokens=12)
    rmask, finished = eos_mask(resp, [tok.eos_token_id])
    batch = Rollouts(
        ids.repeat_interleave(5, 0),
        mask.repeat_interleave(5, 0),
        resp,
        rmask,
        [""] * len(resp),
        np.repeat(np.arange(3), 5),
        finished.numpy(),
    )
    with torch.no_grad():
        want, _ = token_logprobs(model, batch)
    m = rmask.bool()
    assert m.sum() > 20
    torch.testing.assert_close(logp[m], want[m], rtol=0, atol=1e-5)
    assert (logp[~m] == 0).all() and (resp[~m] == tok.pad_token_id).all()


def test_rows_end_at_eos_and_width_is_the_longest_response():
    model, tok, prompts = _setup()
    eos = tok.eos_token_id
    with torch.no_grad():
        model.lm_head.weight[eos] *= 0  # EOS logit 0: about as likely as the other tokens
    torch.manual_seed(3)
    _, _, resp, _ = _sample(model, tok, prompts, n=16, max_new_tokens=10)
    assert resp.shape[0] == 48 and resp.shape[1] <= 10
    lengths = []
    for row in resp.tolist():
        if eos in row:
            end = row.index(eos)
            assert all(t == tok.pad_token_id for t in row[end + 1 :]), "nothing is written after EOS"
            lengths.append(end + 1)
        else:
            assert resp.shape[1] == 10, "a row without EOS only when cut at max_new_tokens"
            lengths.append(10)
    assert max(lengths) == resp.shape[1]
    assert len(set(lengths)) > 2, "rows end at different steps (exercises dropping finished rows)"


def test_greedy_equals_generate():
    model, tok, prompts = _setup(seed=4)
    ids, mask = left_pad(prompts, tok.pad_token_id, "cpu")
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=False,
            max_new_tokens=7,
            eos_token_id=[tok.eos_token_id],
            pad_token_id=tok.pad_token_id,
        )[:, ids.shape[1] :]
    _, _, resp, _ = _sample(model, tok, prompts, n=1, max_new_tokens=7, temperature=0.0)
    want_mask, _ = eos_mask(out, [tok.eos_token_id])
    got_mask, _ = eos_mask(resp, [tok.eos_token_id])
    assert [r[m.bool()].tolist() for r, m in zip(resp, got_mask, strict=True)] == [
        r[m.bool()].tolist() for r, m in zip(out, want_mask, strict=True)
    ]


@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p"), [(1.0, 0, 1.0), (0.7, 3, 1.0), (1.3, 0, 0.6), (1.0, 5, 0.8)]
)
def test_first_token_frequencies_follow_the_warped_distribution(temperature, top_k, top_p):
    """Empirical frequencies of 6,000 draws match generate's warped probabilities (computed exactly)."""
    from transformers.generation.logits_process import (
        LogitsProcessorList,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    model, tok, prompts = _setup(seed=5)
    with torch.no_grad():
        model.lm_head.weight.mul_(8)  # a peaked distribution, so top-k/top-p cut something
    n = 6000
    torch.manual_seed(6)
    ids, mask, resp, _ = _sample(
        model, tok, prompts[:1], n=n, max_new_tokens=1, temperature=temperature, top_k=top_k, top_p=top_p
    )
    with torch.no_grad():
        logits = model(input_ids=ids[:1], attention_mask=mask[:1]).logits[:, -1].float()
    procs = LogitsProcessorList()
    if temperature != 1.0:
        procs.append(TemperatureLogitsWarper(temperature))
    if top_k:
        procs.append(TopKLogitsWarper(top_k))
    if top_p < 1:
        procs.append(TopPLogitsWarper(top_p))
    want = torch.softmax(procs(ids[:1], logits), -1)[0].numpy()
    got = np.bincount(resp[:, 0].numpy(), minlength=len(want)) / n
    assert (got[want == 0] == 0).all(), "no token outside top-k/top-p is ever drawn"
    if top_k or top_p < 1:
        assert (want == 0).any()
    # 5 standard errors of a binomial proportion.
    assert np.all(np.abs(got - want) <= 5 * np.sqrt(want * (1 - want) / n) + 1e-9)


def test_hf_backend_uses_the_fast_loop_with_the_same_layout():
    model, tok, prompts = _setup(seed=7)
    sampling = SamplingParams(n=1, temperature=0.0, max_new_tokens=6)
    fast = HFBackend(model, tok, batch_size=2).generate(prompts, [4, 5, 6], sampling)
    slow = HFBackend(model, tok, batch_size=2, fast=False).generate(prompts, [4, 5, 6], sampling)
    assert fast.group_ids.tolist() == slow.group_ids.tolist()
    assert torch.equal(fast.prompt_ids, slow.prompt_ids) and torch.equal(fast.prompt_mask, slow.prompt_mask)
    assert fast.texts == slow.texts
    assert torch.equal(fast.response_mask.sum(1), slow.response_mask.sum(1))
    assert fast.finished.tolist() == slow.finished.tolist()


def test_supports_only_plain_llama_and_qwen2():
    from transformers import GPT2Config, GPT2LMHeadModel

    model, _, _ = _setup()
    assert fast_sample.supports(model)
    assert not fast_sample.supports(
        GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=20))
    )
    qwen, _, _ = _setup("qwen2")
    qwen.config.use_sliding_window = True
    assert not fast_sample.supports(qwen)
    assert not fast_sample.supports(object())


def test_bad_shapes_and_empty_requests():
    model, tok, prompts = _setup()
    ids, mask = left_pad(prompts, tok.pad_token_id, "cpu")
    with pytest.raises(ValueError, match=r"\[P, W\]"):
        fast_sample.sample(
            model, ids[0], mask[0], SamplingParams(n=2, max_new_tokens=3), eos_ids=[2], pad_id=0
        )
    resp, logp = fast_sample.sample(
        model, ids, mask, SamplingParams(n=2, max_new_tokens=0), eos_ids=[2], pad_id=0
    )
    assert resp.shape == (6, 0) and logp.shape == (6, 0)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p", "min_p"), [(0.7, 4, 1.0, 0.0), (1.2, 0, 0.7, 0.0), (1.0, 0, 1.0, 0.2)]
)
def test_sampler_logprobs_are_the_shaped_scores(temperature, top_k, top_p, min_p, fast):
    """With ``logprobs``, from either path: each token's log-prob under the shaped scores (``shape_logits``
    of the training pass's logits), and only tokens inside the kept support are drawn."""
    from maxrl_rs.rollout.logprobs import shape_logits

    model, tok, prompts = _setup(seed=8)
    with torch.no_grad():
        model.lm_head.weight.mul_(6)
    sampling = SamplingParams(
        n=6, temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, max_new_tokens=6, logprobs=True
    )
    torch.manual_seed(9)
    r = HFBackend(model, tok, batch_size=2, fast=fast).generate(prompts, [0, 1, 2], sampling)
    assert r.sampler_logp is not None
    ids = torch.cat([r.prompt_ids, r.response_ids], 1)
    mask = torch.cat([r.prompt_mask, r.response_mask], 1)
    with torch.no_grad():
        logits = (
            model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(1) - 1).clamp(min=0))
            .logits[:, r.prompt_ids.shape[1] - 1 : -1]
            .float()
        )
    shaped = shape_logits(logits, sampling)
    want = shaped.log_softmax(-1).gather(-1, r.response_ids.unsqueeze(-1)).squeeze(-1)
    m = r.response_mask.bool()
    assert torch.isfinite(want[m]).all(), "every sampled token lies in the shaped support"
    torch.testing.assert_close(r.sampler_logp[m], want[m], rtol=0, atol=1e-4)
    assert (r.sampler_logp[m] <= 0).all() and torch.isnan(r.sampler_logp[~m]).all()
    plain = HFBackend(model, tok, fast=fast).generate(
        prompts, [0, 1, 2], SamplingParams(n=2, max_new_tokens=4)
    )
    assert plain.sampler_logp is None, "sampler log-probs only when asked for"
