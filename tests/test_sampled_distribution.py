"""The loss sees the distribution the rollouts were sampled from: truncation (top-k, top-p, min-p) and
temperature in the log-probs, no checkpoint generation settings in sampling, dropout off, steps that cannot
learn refused or reported, a bounded KL term and the truncated importance-sampling correction."""

from __future__ import annotations

import copy
import types
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import maxrl_rs  # noqa: E402
from _tiny import TINY  # noqa: E402
from maxrl_rs import ConfigError  # noqa: E402
from maxrl_rs.config import load_config  # noqa: E402
from maxrl_rs.losses import LossConfig, policy_loss  # noqa: E402
from maxrl_rs.models import TinyModelSpec, tiny_model  # noqa: E402
from maxrl_rs.rollout import Rollouts, SamplingParams, token_logprobs  # noqa: E402
from maxrl_rs.rollout.hf import HFBackend  # noqa: E402
from maxrl_rs.rollout.logprobs import response_logprobs, shape_logits  # noqa: E402
from maxrl_rs.rollout.vllm import (  # noqa: E402
    engine_sampling_kwargs,
    rollouts_from_outputs,
    vllm_sampling_kwargs,
)
from maxrl_rs.tasks import Graded, MazeOptions, MazeTask  # noqa: E402
from maxrl_rs.trainer import Trainer, disable_dropout  # noqa: E402
from test_vllm_backend import fake_vllm  # noqa: E402, F401  (the vLLM stand-in's fixture)

SPEC = TinyModelSpec(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64)


class StubTokenizer:
    """What the HF backend needs of a tokenizer, for models whose vocabulary no real tokenizer here has."""

    eos_token_id = 2
    pad_token_id = 0

    def batch_decode(self, rows, skip_special_tokens=True):
        return [" ".join(str(t) for t in r) for r in rows]


def gpt2(vocab: int = 128, dropout: float = 0.0, seed: int = 0):
    """A GPT-2-style model built from its config (no download); GPT-2's own default dropout is 0.1."""
    torch.manual_seed(seed)
    cfg = transformers.GPT2Config(
        vocab_size=vocab,
        n_positions=128,
        n_embd=32,
        n_layer=2,
        n_head=2,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    return transformers.GPT2LMHeadModel(cfg)


def maze_model(seed: int = 0):
    task = MazeTask(MazeOptions(5), seed=0, eval_seed=1, eval_size=2)
    tok = task.build_tokenizer()
    torch.manual_seed(seed)
    model = tiny_model(SPEC, tok)
    prompts = [task.prompt_ids(task.train_example(i), tok) for i in range(3)]
    prompts[1] = prompts[1][5:]  # ragged, so left padding is exercised
    return model, tok, prompts


def sampled_and_trained(model, tok, prompts, sampling: SamplingParams):
    """The sampler's processed log-prob of every sampled token (transformers' own ``output_scores``) and the
    log-prob the loss computes for it, on the response tokens."""
    backend = HFBackend(model, tok)
    torch.manual_seed(3)
    r = backend.generate(prompts, list(range(len(prompts))), sampling)
    model.eval()
    with torch.no_grad():
        got, ent = token_logprobs(model, r, sampling=sampling, entropy=True)
    m = r.response_mask.bool()
    assert m.sum() > 10
    assert torch.isfinite(ent[m]).all() and (ent[m] >= -1e-6).all()
    return r.sampler_logp[m], got[m], r


OPTIONS = {
    "temperature": dict(temperature=0.7),
    "top_p": dict(top_p=0.7),
    "top_k": dict(top_k=4),
    "min_p": dict(min_p=0.9),
    "all": dict(temperature=1.3, top_k=6, top_p=0.8, min_p=0.05),
    "greedy": dict(temperature=0.0),
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_loss_logprobs_are_the_samplers_processed_logprobs(name):
    model, tok, prompts = maze_model()
    sampling = SamplingParams(n=4, max_new_tokens=12, logprobs=True, **OPTIONS[name])
    want, got, _ = sampled_and_trained(model, tok, prompts, sampling)
    assert torch.isfinite(want).all()
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["top_p", "top_k", "min_p"])
def test_full_vocabulary_logprobs_would_be_wrong_under_truncation(name):
    """What the loss got before: temperature alone, no truncation; the gap the test above closes."""
    model, tok, prompts = maze_model()
    sampling = SamplingParams(n=4, max_new_tokens=12, logprobs=True, **OPTIONS[name])
    want, _, r = sampled_and_trained(model, tok, prompts, sampling)
    with torch.no_grad():
        full, _ = token_logprobs(model, r, sampling=SamplingParams(temperature=sampling.temperature))
    gap = (full[r.response_mask.bool()] - want).mean()
    assert gap < -0.01, f"truncation changed nothing ({gap:.4f}): the test above would pass vacuously"


def test_no_top_k_50_by_default_on_a_larger_vocabulary():
    """A top_k left unset in the generation config would get transformers' default 50 (vocabulary 128)."""
    model = gpt2(vocab=128)
    prompts = [[1, 5, 9, 40], [1, 77]]
    sampling = SamplingParams(n=4, max_new_tokens=10, logprobs=True)
    want, got, _ = sampled_and_trained(model, StubTokenizer(), prompts, sampling)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


CHECKPOINT_SETTINGS = {
    "repetition_penalty": 1.8,
    "no_repeat_ngram_size": 2,
    "min_p": 0.95,
    "typical_p": 0.3,
    "epsilon_cutoff": 0.05,
    "eta_cutoff": 0.05,
    "bad_words_ids": [[5], [6]],
    "temperature": 0.3,
    "top_k": 2,
    "top_p": 0.5,
    "min_new_tokens": 6,
    "suppress_tokens": [7],
}


@pytest.mark.parametrize("key", sorted(CHECKPOINT_SETTINGS))
def test_checkpoint_generation_config_is_not_applied_and_is_reported(key):
    model, tok, prompts = maze_model()
    setattr(model.generation_config, key, CHECKPOINT_SETTINGS[key])
    if key in ("temperature", "top_k", "top_p", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff"):
        model.generation_config.do_sample = True
    saved = model.generation_config
    with pytest.warns(UserWarning, match=f"generation_config.json is not applied.*{key}="):
        HFBackend(model, tok)
    sampling = SamplingParams(n=4, max_new_tokens=12, logprobs=True, top_k=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want, got, _ = sampled_and_trained(model, tok, prompts, sampling)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    assert model.generation_config is saved and getattr(saved, key) == CHECKPOINT_SETTINGS[key]


def test_a_plain_model_warns_about_nothing():
    model, tok, _ = maze_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HFBackend(model, tok)


def test_shape_logits_matches_transformers_on_ties_and_keeps_the_sampled_token():
    from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

    logits = torch.tensor([[3.0, 1.0, 1.0, 1.0, 0.0, -2.0], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])
    s = SamplingParams(top_k=2, top_p=0.9, temperature=1.0)
    want = TopPLogitsWarper(0.9)(None, TopKLogitsWarper(2)(None, logits.clone()))
    got = shape_logits(logits, s)
    assert torch.equal(got, want)
    ties = shape_logits(logits, SamplingParams(top_k=2))
    assert torch.isfinite(ties[0]).sum() == 4, (
        "ties at the k-th score are all kept, as transformers keeps them"
    )
    targets = torch.tensor([5, 0])
    kept = shape_logits(logits, SamplingParams(top_k=1), targets)
    assert kept[0, 5] == -2.0 and kept[0, 0] == 3.0 and torch.isinf(kept[0, 1:5]).all()
    assert shape_logits(logits, SamplingParams(temperature=0.0)) is logits


def test_reference_logprobs_share_the_processing_and_stay_finite():
    """The KL reference is scored under the same temperature and truncation (its own kept set plus the
    sampled token): equal weights give KL 0, a reference that would have cut the token stays finite."""
    model, tok, prompts = maze_model()
    sampling = SamplingParams(n=4, max_new_tokens=12, top_k=2, temperature=0.8)
    torch.manual_seed(1)
    r = HFBackend(model, tok).generate(prompts, [0, 1, 2], sampling)
    policy = response_logprobs(model, r, sampling=sampling)
    same = response_logprobs(copy.deepcopy(model), r, sampling=sampling)
    assert torch.equal(policy, same)
    other, _, _ = maze_model(seed=5)
    ref = response_logprobs(other, r, sampling=sampling)
    m = r.response_mask.bool()
    assert torch.isfinite(ref[m]).all()
    _, stats = policy_loss(
        policy, torch.zeros(len(r)), r.response_mask, LossConfig(kl_coef=0.1), ref_logp=same
    )
    assert stats["kl"] == 0.0


# -- dropout -------------------------------------------------------------------------------------------------


def _batch(model, vocab: int = 128) -> Rollouts:
    g = torch.Generator().manual_seed(0)
    prompt = torch.randint(3, vocab, (4, 6), generator=g)
    response = torch.randint(3, vocab, (4, 8), generator=g)
    return Rollouts(
        prompt,
        torch.ones_like(prompt),
        response,
        torch.ones_like(response),
        [""] * 4,
        np.arange(4),
        np.ones(4, bool),
    )


def test_dropout_is_switched_off_so_train_mode_equals_eval_mode():
    model = gpt2(dropout=0.1)
    batch = _batch(model)
    model.train()
    noisy, _ = token_logprobs(model, batch)
    ref = response_logprobs(model, batch)
    assert (noisy - ref).abs().max() > 1e-2, "dropout 0.1 perturbs train-mode log-probs"
    disable_dropout(model)
    assert all(m.p == 0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
    assert model.config.resid_pdrop == model.config.embd_pdrop == model.config.attn_pdrop == 0.0
    model.train()
    assert torch.equal(token_logprobs(model, batch)[0], response_logprobs(model, batch))


def test_attention_dropout_attribute_of_llama_style_models_is_zeroed():
    task = MazeTask(MazeOptions(5), seed=0, eval_seed=1, eval_size=2)
    model = tiny_model(SPEC, task.build_tokenizer())
    for m in model.modules():
        if hasattr(m, "attention_dropout"):
            m.attention_dropout = 0.3
    model.config.attention_dropout = 0.3
    disable_dropout(model)
    assert model.config.attention_dropout == 0.0
    assert all(getattr(m, "attention_dropout", 0.0) == 0.0 for m in model.modules())


class ScriptedMaze(MazeTask):
    """Mixed groups: every third rollout succeeds."""

    def grade(self, responses, examples):
        rewards = (np.arange(len(responses)) % 3 == 0).astype(np.float32)
        status = np.where(rewards > 0, 0, 1).astype(np.uint8)
        return Graded(rewards=rewards, mask=np.ones(len(responses), bool), status=status)


class FailingMaze(MazeTask):
    """Every rollout fails (a model that cannot solve the task yet)."""

    def grade(self, responses, examples):
        n = len(responses)
        return Graded(rewards=np.zeros(n, np.float32), mask=np.ones(n, bool), status=np.ones(n, np.uint8))


def trainer_with(model, *overrides: str, task_cls=ScriptedMaze, ref=None) -> Trainer:
    cfg = load_config(None, [*TINY, "train.micro_batch_size=64", *overrides])
    task = task_cls(MazeOptions(5), seed=0, eval_seed=1, eval_size=4)
    tok = task.build_tokenizer()
    return Trainer(cfg, model, tok, task, HFBackend(model, tok), ref_model=ref)


def first_update_stats(trainer, monkeypatch) -> dict[str, float]:
    import maxrl_rs.trainer as trainer_module

    seen: list[dict[str, float]] = []
    real = trainer_module.policy_loss

    def spy(*args, **kwargs):
        loss, stats = real(*args, **kwargs)
        seen.append(stats)
        return loss, stats

    monkeypatch.setattr(trainer_module, "policy_loss", spy)
    torch.manual_seed(0)
    trainer.step()
    return seen[0]  # the first micro-batch of the first minibatch: no optimizer step yet


@pytest.mark.parametrize("keep_dropout", [False, True])
def test_ppo_ratio_is_one_before_the_first_step_with_a_dropout_checkpoint(keep_dropout, monkeypatch):
    import maxrl_rs.trainer as trainer_module

    if keep_dropout:  # what the trainer did before: the test must see the difference
        monkeypatch.setattr(trainer_module, "disable_dropout", lambda model: None)
    task = MazeTask(MazeOptions(5), seed=0, eval_seed=1, eval_size=4)
    model = gpt2(vocab=len(task.build_tokenizer()), dropout=0.1)
    trainer = trainer_with(model, "algo.ppo_epochs=2")
    stats = first_update_stats(trainer, monkeypatch)
    if keep_dropout:
        assert stats["approx_kl"] > 1e-4
    else:
        assert stats["ratio"] == 1.0 and stats["approx_kl"] == 0.0 and stats["clip_frac"] == 0.0


def test_first_update_kl_is_zero_with_truncated_sampling(monkeypatch):
    model, _, _ = maze_model()
    trainer = trainer_with(
        model, "algo.kl_coef=0.1", "rollout.top_p=0.8", "rollout.top_k=5", ref=copy.deepcopy(model)
    )
    stats = first_update_stats(trainer, monkeypatch)
    assert stats["kl"] < 1e-6


# -- steps that cannot learn ---------------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", ["maxrl", "grpo", "rloo", "dr_grpo"])
def test_one_rollout_per_prompt_is_refused_where_every_advantage_is_zero(estimator):
    with pytest.raises(ConfigError, match=r"rollout\.n: 1 with algo\.estimator.*'reinforce'.*drop_all_fail"):
        load_config(None, ["rollout.n=1", f"algo.estimator={estimator}"])
    # ...and it is true: with one rollout per prompt every advantage is 0.
    rewards, groups = np.array([1.0, 0.0, 1.0, 0.0]), np.arange(4)
    assert not np.any(maxrl_rs.advantages(rewards, groups, estimator))


@pytest.mark.parametrize("overrides", [["algo.estimator=reinforce"], ["algo.drop_all_fail=false"]])
def test_one_rollout_per_prompt_works_with_reinforce_and_maxrl_without_drop_all_fail(overrides):
    cfg = load_config(None, ["rollout.n=1", *overrides])
    rewards, groups = np.array([1.0, 0.0, 1.0, 0.0]), np.arange(4)
    adv = maxrl_rs.advantages(rewards, groups, cfg.algo.estimator, drop_all_fail=cfg.algo.drop_all_fail)
    assert np.any(adv != 0)


def test_steps_without_any_advantage_warn_once(recwarn):
    model, _, _ = maze_model()
    trainer = trainer_with(model, task_cls=FailingMaze)
    for _ in range(2):
        trainer.step()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    trainer.step()
    found = [str(w.message) for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert len(found) == 1 and "steps 1-3" in found[0] and "all-fail 100%" in found[0]
    for _ in range(3):
        trainer.step()
    assert len([w for w in recwarn if issubclass(w.category, RuntimeWarning)]) == 1


def test_a_step_with_signal_resets_the_count(recwarn):
    model, _, _ = maze_model()
    trainer = trainer_with(model, task_cls=FailingMaze)
    trainer.step()
    trainer.step()
    trainer.task.__class__ = ScriptedMaze
    trainer.step()
    trainer.task.__class__ = FailingMaze
    trainer.step()
    trainer.step()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# -- the KL term ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gap", [89.0, -89.0, 1000.0, -1000.0, float("inf"), float("-inf")])
def test_kl_with_extreme_log_ratios_is_finite(gap):
    logp = torch.full((2, 3), -1.0, requires_grad=True)
    ref = (logp.detach() + gap).clone()
    mask = torch.ones(2, 3)
    loss, stats = policy_loss(logp, torch.tensor([1.0, -1.0]), mask, LossConfig(kl_coef=0.1), ref_logp=ref)
    loss.backward()
    assert torch.isfinite(loss) and np.isfinite(stats["kl"])
    assert torch.isfinite(logp.grad).all()
    # Inside the clamp the k3 value is exact.
    small, _ = policy_loss(logp, torch.zeros(2), mask, LossConfig(kl_coef=1.0), ref_logp=logp.detach() + 3.0)
    assert float(small.detach()) == pytest.approx(np.exp(3.0) - 3.0 - 1.0, rel=1e-6)


# -- truncated importance sampling ---------------------------------------------------------------------------


def test_tis_weights_the_policy_gradient_by_the_capped_ratio():
    logp = torch.tensor([[-1.0, -2.0, -0.5, -3.0]], requires_grad=True)
    sampler = torch.tensor([[-1.0, -2.5, -2.0, float("nan")]])  # last: the engine gave none
    adv = torch.tensor([1.0])
    mask = torch.ones(1, 4)
    loss, stats = policy_loss(logp, adv, mask, LossConfig(tis_cap=2.0), sampler_logp=sampler)
    loss.backward()
    w = torch.tensor([1.0, float(np.exp(0.5)), 2.0, 1.0])  # exp(0) ; exp(0.5) ; exp(1.5) capped ; nan -> 1
    # On-policy: d(−A ρ)/d logp = −A ρ = −A, times the weight, over 4 tokens.
    torch.testing.assert_close(logp.grad, -w.unsqueeze(0) / 4)
    assert stats["tis_weight"] == pytest.approx(float(w.mean()))
    assert stats["tis_capped_frac"] == pytest.approx(0.25)
    plain, _ = policy_loss(logp, adv, mask, LossConfig())
    assert float(loss.detach()) == pytest.approx(float(plain.detach()) * float(w.mean()))
    with pytest.raises(ValueError, match="sampler_logp"):
        policy_loss(logp, adv, mask, LossConfig(tis_cap=2.0))
    with pytest.raises(ConfigError, match="tis_cap"):
        LossConfig(tis_cap=0.0)


@dataclass
class Logprob:  # vllm.sequence.Logprob
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class Completion:  # vllm.outputs.CompletionOutput
    index: int
    token_ids: list[int]
    logprobs: list[dict[int, Logprob]] | None
    finish_reason: str | None = "length"
    stop_reason: int | str | None = None
    text: str = ""


@dataclass
class RequestOutput:  # vllm.outputs.RequestOutput
    request_id: str
    prompt_token_ids: list[int]
    outputs: list[Completion] = field(default_factory=list)
    finished: bool = True


def test_engine_logprobs_of_a_recorded_output_become_sampler_logprobs():
    eos = 2
    outputs = [
        RequestOutput(
            "0",
            [1, 5],
            [
                Completion(1, [7, eos], [{7: Logprob(-0.25, 1)}, {eos: Logprob(-0.75, 2)}], "stop"),
                # A stop token vLLM left out of token_ids is put back, with no log-prob of its own.
                Completion(0, [8], [{8: Logprob(-1.5, 3)}], "stop", stop_reason=eos),
            ],
        ),
        RequestOutput("1", [1], [Completion(0, [9, 9, 9], [{9: Logprob(-0.1)}] * 3), Completion(1, [], [])]),
    ]

    def convert(logprobs: bool) -> Rollouts:
        return rollouts_from_outputs(
            outputs,
            [[1, 5], [1]],
            [0, 1],
            2,
            eos_ids=[eos],
            pad_id=0,
            decode=lambda rows: [""] * 4,
            logprobs=logprobs,
        )

    r = convert(True)
    lp = r.sampler_logp
    assert lp.shape == r.response_ids.shape and lp.dtype == torch.float32
    assert lp[0, 0] == -1.5 and torch.isnan(lp[0, 1])  # index 0 first; the restored EOS has none
    assert lp[1, :2].tolist() == [-0.25, -0.75] and torch.isnan(lp[1, 2])
    assert lp[2].tolist() == pytest.approx([-0.1] * 3)
    assert torch.isnan(lp[3]).all()
    assert r.select([1, 2]).sampler_logp.shape == (2, 3)
    plain = convert(False)
    assert plain.sampler_logp is None
    outputs[1].outputs[0].logprobs = None
    with pytest.raises(ConfigError, match="no log-probs"):
        convert(True)


def test_vllm_is_asked_for_the_sampled_tokens_processed_logprobs_only_under_tis():
    s = SamplingParams(n=2, temperature=0.7, min_p=0.1, logprobs=True)
    kwargs = vllm_sampling_kwargs(s, eos_ids=[2], seed=1)
    assert kwargs["logprobs"] == 0 and kwargs["min_p"] == 0.1
    assert "logprobs" not in vllm_sampling_kwargs(SamplingParams(), eos_ids=[2], seed=1)
    assert engine_sampling_kwargs("0.11.0") == {
        "generation_config": "vllm",
        "logprobs_mode": "processed_logprobs",
    }
    assert engine_sampling_kwargs("0.10.1") == {"generation_config": "vllm"}
    assert engine_sampling_kwargs("dev") == {"generation_config": "vllm"}


def test_tis_step_with_the_hf_backend_weights_about_one(monkeypatch):
    """The HF backend samples from the training weights: the weights are 1 up to float noise."""
    model, _, _ = maze_model()
    trainer = trainer_with(model, "algo.tis_cap=2.0", "rollout.top_k=6")
    assert trainer.sampling.logprobs
    stats = first_update_stats(trainer, monkeypatch)
    assert stats["tis_weight"] == pytest.approx(1.0, abs=1e-4) and stats["tis_capped_frac"] == 0.0


def test_tis_needs_a_backend_that_returns_logprobs():
    model, _, _ = maze_model()
    trainer = trainer_with(model, "algo.tis_cap=2.0")
    trainer.sampling = SamplingParams(n=4, max_new_tokens=trainer.max_new_tokens)  # a backend ignoring it
    with pytest.raises(ConfigError, match=r"algo\.tis_cap needs the sampler's own log-probs"):
        trainer.step()
    with pytest.raises(ConfigError, match=r"algo\.tis_cap"):
        load_config(None, ["algo.tis_cap=0"])


def test_per_prompt_sampling_keeps_each_prompts_sampler_logprobs():
    """Data-parallel runs sample prompt by prompt and join the parts: the sampler's log-probs follow."""
    from maxrl_rs.distributed import generate_per_prompt

    model, tok, prompts = maze_model()
    sampling = SamplingParams(n=3, max_new_tokens=12, logprobs=True, top_k=5)
    r = generate_per_prompt(
        HFBackend(model, tok), prompts, [0, 1, 2], sampling, base_seed=0, step=1, pad_id=0
    )
    assert r.sampler_logp.shape == r.response_ids.shape
    m = r.response_mask.bool()
    assert torch.isfinite(r.sampler_logp[m]).all() and torch.isnan(r.sampler_logp[~m]).all()
    model.eval()
    with torch.no_grad():
        got, _ = token_logprobs(model, r, sampling=sampling)
    torch.testing.assert_close(got[m], r.sampler_logp[m], rtol=0, atol=1e-5)


@pytest.mark.usefixtures("fake_vllm")
def test_vllm_backend_asks_the_engine_for_its_logprobs_and_not_the_checkpoints_settings(monkeypatch):
    """Through the backend, on the recording stand-in for ``vllm.LLM``: the engine is built to ignore the
    checkpoint's generation config, each request asks for the sampled token's log-prob, and the recorded
    log-probs come back as ``Rollouts.sampler_logp`` with the training pass's layout."""
    import maxrl_rs.rollout.vllm as vllm_module
    from test_vllm_backend import FakeLLM, FakeRequestOutput, FakeSamplingParams

    class SamplingWithLogprobs(FakeSamplingParams):
        def __init__(self, *, logprobs=None, min_p=0.0, **kwargs):
            super().__init__(**kwargs)
            self.logprobs, self.min_p = logprobs, min_p

    class RecordedEngine(FakeLLM):
        """Answers every request with the tokens 5, 6, EOS and the log-probs -0.5, -1.0, -0.25."""

        def generate(self, inputs, params, use_tqdm=True):
            assert all(p.logprobs == 0 and p.min_p == 0.1 for p in params)
            self.calls.append("generate")
            lps = [{5: Logprob(-0.5)}, {6: Logprob(-1.0)}, {2: Logprob(-0.25)}]
            return [
                FakeRequestOutput(
                    str(i), x["prompt_token_ids"], [Completion(j, [5, 6, 2], lps, "stop") for j in range(p.n)]
                )
                for i, (x, p) in enumerate(zip(inputs, params, strict=True))
            ]

    monkeypatch.setattr(
        vllm_module,
        "require_vllm",
        lambda: types.SimpleNamespace(LLM=RecordedEngine, SamplingParams=SamplingWithLogprobs),
    )
    model, tok, prompts = maze_model()
    model.generation_config.repetition_penalty = 1.3
    with pytest.warns(UserWarning, match="repetition_penalty=1.3"):
        backend = vllm_module.VLLMBackend(model, tok)
    backend._device = torch.device("cpu")
    assert backend.llm.kwargs["generation_config"] == "vllm"
    sampling = SamplingParams(n=2, max_new_tokens=4, min_p=0.1, logprobs=True)
    r = backend.generate(prompts[:2], [0, 1], sampling)
    assert r.sampler_logp.tolist() == [[-0.5, -1.0, -0.25]] * 4
    backend.close()
