"""The vLLM rollout backend: output conversion and sampling settings (no vLLM needed), the clear error where
vLLM or CUDA is missing, and, where both exist, a real engine (marked ``vllm``)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import maxrl_rs  # noqa: E402
from maxrl_rs.rollout import SamplingParams, backend_class  # noqa: E402
from maxrl_rs.rollout.vllm import (  # noqa: E402
    VLLMBackend,
    VLLMOptions,
    check_options,
    completion_tokens,
    prompt_seed,
    repeat_completions,
    require_vllm,
    rollouts_from_outputs,
    save_engine_config,
    vllm_sampling_kwargs,
)

HAVE_VLLM = importlib.util.find_spec("vllm") is not None
EOS, PAD = 2, 0


# Shaped like vllm.outputs.CompletionOutput / RequestOutput (the fields the backend reads).
@dataclass
class FakeCompletion:
    index: int
    token_ids: list[int]
    finish_reason: str | None = "length"
    stop_reason: int | str | None = None
    text: str = ""


@dataclass
class FakeRequestOutput:
    request_id: str
    prompt_token_ids: list[int]
    outputs: list[FakeCompletion] = field(default_factory=list)
    finished: bool = True


def decode(rows: list[list[int]]) -> list[str]:
    return [" ".join(str(t) for t in r if t != EOS) for r in rows]


def test_conversion_pads_masks_and_orders_by_index():
    prompts = [[1, 5, 6], [1, 7]]
    outputs = [
        FakeRequestOutput(
            "0",
            [1, 5, 6],
            [  # completions deliberately out of index order
                FakeCompletion(1, [9, EOS], "stop", None),
                FakeCompletion(0, [8, 8, 8], "length"),
            ],
        ),
        FakeRequestOutput(
            "1",
            [1, 7],
            [FakeCompletion(0, [EOS], "stop"), FakeCompletion(1, [4, EOS, 4, 4], "stop")],
        ),
    ]
    r = rollouts_from_outputs(outputs, prompts, [10, 11], 2, eos_ids=[EOS], pad_id=PAD, decode=decode)
    assert len(r) == 4
    assert r.prompt_ids.tolist() == [[1, 5, 6], [1, 5, 6], [PAD, 1, 7], [PAD, 1, 7]]
    assert r.prompt_mask.tolist() == [[1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 1, 1]]
    # Responses cut after the first EOS (kept: the policy learns to stop), right-padded to the longest.
    assert r.response_ids.tolist() == [[8, 8, 8], [9, EOS, PAD], [EOS, PAD, PAD], [4, EOS, PAD]]
    assert r.response_mask.tolist() == [[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 0]]
    assert r.finished.tolist() == [False, True, True, True]
    assert r.group_ids.tolist() == [10, 10, 11, 11]
    assert r.group_ids.dtype == np.int64
    assert r.texts == ["8 8 8", "9", "", "4"]
    assert r.response_ids.dtype == torch.long and r.prompt_mask.dtype == torch.long


def test_stop_token_left_out_of_token_ids_is_restored():
    c = FakeCompletion(0, [5, 6], finish_reason="stop", stop_reason=EOS)
    assert completion_tokens(c, [EOS]) == ([5, 6, EOS], True)
    # A stop string (not a token) or a length cut adds nothing.
    assert completion_tokens(FakeCompletion(0, [5], "stop", "DONE"), [EOS]) == ([5], False)
    assert completion_tokens(FakeCompletion(0, [5, 6], "length"), [EOS]) == ([5, 6], False)
    # Any of several EOS ids ends the response.
    assert completion_tokens(FakeCompletion(0, [5, 7, 6], "stop"), [EOS, 7]) == ([5, 7], True)


def test_conversion_rejects_mismatched_outputs():
    prompts = [[1, 2]]
    one = [FakeRequestOutput("0", [1, 2], [FakeCompletion(0, [EOS], "stop")])]
    with pytest.raises(maxrl_rs.ConfigError, match=r"completions, expected n=2"):
        rollouts_from_outputs(one, prompts, [0], 2, eos_ids=[EOS], pad_id=PAD, decode=decode)
    with pytest.raises(maxrl_rs.ConfigError, match="different prompt"):
        rollouts_from_outputs(one, [[1, 3]], [0], 1, eos_ids=[EOS], pad_id=PAD, decode=decode)
    with pytest.raises(maxrl_rs.ConfigError, match="2 prompts"):
        rollouts_from_outputs(one, [[1, 2], [1, 2]], [0, 1], 1, eos_ids=[EOS], pad_id=PAD, decode=decode)


def test_converted_rollouts_feed_the_logprob_pass():
    """The converted batch has the layout the training pass expects (same as the HF backend's)."""
    from maxrl_rs.rollout import token_logprobs
    from maxrl_rs.tasks import MazeTask

    task = MazeTask(MazeTask.Options(size=3), seed=0, eval_seed=1, eval_size=1)
    tok = task.build_tokenizer()
    from maxrl_rs.models import TinyModelSpec, tiny_model

    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tok)
    prompt = task.prompt_ids(task.train_example(0), tok)
    down, done = tok.convert_tokens_to_ids(["DOWN", "DONE"])
    outputs = [
        FakeRequestOutput(
            "0",
            prompt,
            [
                FakeCompletion(0, [down, done, tok.eos_token_id], "stop"),
                FakeCompletion(1, [down, down], "length"),
            ],
        )
    ]
    r = rollouts_from_outputs(
        outputs,
        [prompt],
        [0],
        2,
        eos_ids=[tok.eos_token_id],
        pad_id=tok.pad_token_id,
        decode=lambda rows: tok.batch_decode(rows, skip_special_tokens=True),
    )
    assert r.texts == ["DOWN DONE", "DOWN DOWN"]
    logp, _ = token_logprobs(model, r)
    assert logp.shape == r.response_ids.shape
    assert torch.isfinite(logp[r.response_mask.bool()]).all()


def test_sampling_kwargs_follow_vllm_names():
    s = SamplingParams(n=4, temperature=0.7, top_p=0.9, top_k=0, max_new_tokens=32)
    kw = vllm_sampling_kwargs(s, eos_ids=[2, 7], seed=123)
    assert kw == {
        "n": 4,
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 32,
        "stop_token_ids": [2, 7],
        "seed": 123,
        "detokenize": False,
    }
    assert vllm_sampling_kwargs(SamplingParams(top_k=20), eos_ids=[2], seed=None)["top_k"] == 20


def test_greedy_sampling_asks_vllm_for_one_response_and_repeats_it():
    greedy = SamplingParams(n=3, temperature=0.0, max_new_tokens=8)
    assert (
        vllm_sampling_kwargs(greedy, eos_ids=[EOS], seed=1)["n"] == 1
    )  # vLLM refuses n > 1 at temperature 0
    outputs = [FakeRequestOutput("0", [1, 5], [FakeCompletion(0, [7, EOS], "stop")])]
    r = rollouts_from_outputs(
        repeat_completions(outputs, 3), [[1, 5]], [4], 3, eos_ids=[EOS], pad_id=PAD, decode=decode
    )
    assert r.response_ids.tolist() == [[7, EOS]] * 3 and r.group_ids.tolist() == [4, 4, 4]
    two = [FakeRequestOutput("0", [1, 5], [FakeCompletion(0, [7]), FakeCompletion(1, [8])])]
    with pytest.raises(maxrl_rs.ConfigError, match="2 greedy completions"):
        repeat_completions(two, 3)


def _tiny_maze_model():
    from maxrl_rs.models import TinyModelSpec, tiny_model
    from maxrl_rs.tasks import MazeTask

    task = MazeTask(MazeTask.Options(size=3), seed=0, eval_seed=1, eval_size=1)
    tok = task.build_tokenizer()
    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tok)
    return model, tok, task


def test_engine_config_names_the_model_class(tmp_path):
    """vLLM picks its model class from config.architectures, which from_config leaves empty."""
    import json

    model, _, _ = _tiny_maze_model()
    assert not model.config.architectures
    save_engine_config(model, tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    assert written["architectures"] == [type(model).__name__] == ["LlamaForCausalLM"]
    assert (tmp_path / "generation_config.json").is_file()
    assert not model.config.architectures  # the training model's own config is left alone


class FakeEngine:
    """Records the calls the backend makes on ``vllm.LLM`` (the engine itself needs vLLM and a GPU)."""

    def __init__(self, model):
        self.model, self.calls, self.seeds = model, [], []

    def wake_up(self, tags=None):
        self.calls.append(f"wake_up{tags}")

    def sleep(self, level=1):
        self.calls.append(f"sleep({level})")

    def apply_model(self, fn):
        self.calls.append("apply_model")
        return [fn(self)]

    def load_weights(self, weights):
        return {name for name, _ in weights}

    def reset_prefix_cache(self):
        self.calls.append("reset_prefix_cache")

    def generate(self, inputs, params, use_tqdm=True):
        self.calls.append("generate")
        self.seeds.append([p["seed"] for p in params])
        return [
            FakeRequestOutput(
                str(i), x["prompt_token_ids"], [FakeCompletion(j, [EOS], "stop") for j in range(p["n"])]
            )
            for i, (x, p) in enumerate(zip(inputs, params))
        ]


def _fake_backend(model, tok):
    """A VLLMBackend with everything __init__ sets, its engine replaced by a :class:`FakeEngine`."""
    import types

    from maxrl_rs.rollout.vllm import architecture_key

    backend = VLLMBackend.__new__(VLLMBackend)
    backend.options, backend.tokenizer, backend.seed, backend.step = VLLMOptions(), tok, 0, 0
    backend.eos_ids, backend.pad_id = [tok.eos_token_id], tok.pad_token_id
    backend._vllm = types.SimpleNamespace(SamplingParams=lambda **kw: kw)
    backend._device, backend._asleep, backend._pending = torch.device("cpu"), False, model
    backend._architecture = architecture_key(model)
    backend.llm = FakeEngine(model)
    return backend, backend.llm


def test_weights_load_between_a_staged_wake_and_the_engine_sleeps_after_sampling():
    model, tok, task = _tiny_maze_model()
    backend, engine = _fake_backend(model, tok)
    prompts, sampling = [task.prompt_ids(task.train_example(0), tok)], SamplingParams(n=2, max_new_tokens=4)
    assert len(backend.generate(prompts, [0], sampling)) == 2
    # The engine starts awake holding random weights: load, then sample, then free the GPU for training.
    assert engine.calls == ["apply_model", "reset_prefix_cache", "generate", "sleep(1)"]
    engine.calls.clear()
    backend.generate(prompts, [0], sampling)  # no optimizer step since: nothing to load
    assert engine.calls == ["wake_up['weights']", "wake_up['kv_cache']", "generate", "sleep(1)"]
    engine.calls.clear()
    backend.sync_weights(model)
    backend.generate(prompts, [0], sampling)
    assert engine.calls == [
        "wake_up['weights']",  # weights first, so the KV cache is not allocated during the copy
        "apply_model",
        "reset_prefix_cache",
        "wake_up['kv_cache']",
        "generate",
        "sleep(1)",
    ]


def test_evaluations_sample_under_their_own_seed_not_the_last_training_step():
    """vLLM seeds each prompt itself, so torch.manual_seed does not reach it: held-out evaluation and
    ``maxrl eval`` hand it their seed as the key."""
    from maxrl_rs.evaluation.sampling import sample_counts
    from maxrl_rs.heldout import heldout_pass_at_k

    model, tok, task = _tiny_maze_model()
    backend, engine = _fake_backend(model, tok)
    examples = [task.eval_examples()[0], task.train_example(3)]
    kw = {"samples": 2, "max_new_tokens": 4}
    heldout_pass_at_k(backend, task, tok, examples, seed=5, **kw)
    first = engine.seeds[-1]
    assert first == [prompt_seed(5, 0, 0), prompt_seed(5, 0, 1)]
    backend.set_seed_key(9, 3)  # a training step in between
    heldout_pass_at_k(backend, task, tok, examples, seed=5, **kw)
    assert engine.seeds[-1] == first
    heldout_pass_at_k(backend, task, tok, examples, seed=6, **kw)
    assert engine.seeds[-1] != first
    sample_counts(backend, task, tok, examples, n=2, max_new_tokens=4, seed=5)
    assert engine.seeds[-1] == first


def test_one_engine_serves_models_of_its_architecture():
    from maxrl_rs.models import TinyModelSpec, tiny_model

    model, tok, _ = _tiny_maze_model()
    backend, _ = _fake_backend(model, tok)
    backend._pending = None
    torch.manual_seed(1)
    same = tiny_model(TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tok)
    assert backend.reuse_for(same, tok) and backend._pending is same  # loaded at the next rollout
    wider = tiny_model(TinyModelSpec(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=32), tok)
    assert not backend.reuse_for(wider, tok)


def test_prompt_seed_depends_on_seed_step_and_prompt_only():
    seeds = {prompt_seed(s, t, g) for s in (0, 1) for t in (0, 1, 2) for g in (0, 1, 2, 10**9)}
    assert len(seeds) == 2 * 3 * 4
    assert prompt_seed(3, 5, 7) == prompt_seed(3, 5, 7)
    assert all(0 <= x < 2**31 for x in seeds)


def test_options_are_range_checked():
    check_options(VLLMOptions())
    with pytest.raises(maxrl_rs.ConfigError, match="gpu_memory_utilization"):
        check_options(VLLMOptions(gpu_memory_utilization=1.5))
    with pytest.raises(maxrl_rs.ConfigError, match=r"rollout\.vllm\.dtype"):
        check_options(VLLMOptions(dtype="int8"))


@pytest.mark.skipif(HAVE_VLLM and torch.cuda.is_available(), reason="vLLM and CUDA are both present")
def test_missing_vllm_or_cuda_is_a_clear_config_error():
    backend_class("vllm")  # the module itself imports without vLLM
    with pytest.raises(maxrl_rs.ConfigError) as err:
        require_vllm()
    msg = str(err.value)
    assert "rollout.backend=vllm" in msg
    assert "pip install 'maxrl-rs[vllm]'" in msg
    assert "CUDA" in msg
    assert "rollout.backend=hf" in msg


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_vllm_without_cuda_is_a_clear_config_error(monkeypatch):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))  # installed, but no GPU here
    with pytest.raises(maxrl_rs.ConfigError, match="needs a CUDA GPU") as err:
        require_vllm()
    assert "rollout.backend=hf" in str(err.value)


@pytest.mark.skipif(HAVE_VLLM and torch.cuda.is_available(), reason="vLLM and CUDA are both present")
def test_train_command_with_vllm_backend_fails_early_and_cleanly(tmp_path):
    from click.testing import CliRunner

    from maxrl_rs.cli import main

    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["train", "--set", "rollout.backend=vllm", "--steps", "1", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    text = result.output
    assert "Error: rollout.backend=vllm" in text
    assert "pip install 'maxrl-rs[vllm]'" in text and "rollout.backend=hf" in text
    assert "Traceback" not in text
    assert isinstance(result.exception, SystemExit)  # click's usage error, not a crash
    assert not out.exists()  # stopped before the run directory, SFT or any model


@pytest.mark.skipif(HAVE_VLLM and torch.cuda.is_available(), reason="vLLM and CUDA are both present")
def test_train_command_error_has_no_traceback_in_a_real_process(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "maxrl_rs", "train", "--set", "rollout.backend=vllm", "--steps", "1",
         "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Error: rollout.backend=vllm" in proc.stderr and "maxrl-rs[vllm]" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.vllm
@pytest.mark.skipif(not (HAVE_VLLM and torch.cuda.is_available()), reason="needs vllm and a CUDA GPU")
def test_vllm_engine_samples_and_follows_weight_updates():
    from maxrl_rs.models import TinyModelSpec, tiny_model
    from maxrl_rs.rollout.vllm import VLLMBackend
    from maxrl_rs.tasks import MazeTask

    task = MazeTask(MazeTask.Options(size=5), seed=0, eval_seed=1, eval_size=1)
    tok = task.build_tokenizer()
    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(), tok).cuda()
    backend = VLLMBackend(model, tok, options=VLLMOptions(gpu_memory_utilization=0.2), seed=0)
    prompts = [task.prompt_ids(task.train_example(i), tok) for i in range(3)]
    sampling = SamplingParams(n=4, temperature=1.0, max_new_tokens=task.max_new_tokens)
    try:
        a = backend.generate(prompts, [0, 1, 2], sampling)
        assert len(a) == 12 and a.response_ids.is_cuda
        # Another batch: prompt 1 keeps its seed (its logits may differ in the last bits with the batch).
        b = backend.generate(prompts[1:2], [1], sampling)
        assert len(b) == 4 and b.group_ids.tolist() == [1] * 4
        # Weights are followed: the engine holds the training model's values after the next rollout.
        with torch.no_grad():
            model.model.norm.weight.fill_(0.5)
        backend.sync_weights(model)
        backend.generate(prompts[:1], [0], sampling)
        (norm,) = backend.llm.apply_model(lambda m: m.model.norm.weight.float().cpu().clone())
        assert torch.allclose(norm, torch.full_like(norm, 0.5))
    finally:
        backend.close()
