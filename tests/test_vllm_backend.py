"""The vLLM rollout backend: output conversion and sampling settings (no vLLM needed), the clear error where
vLLM or CUDA is missing, and, where both exist, a real engine (marked ``vllm``)."""

from __future__ import annotations

import importlib.util
import math
import os
import types
from dataclasses import dataclass, field
from pathlib import Path

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


class FakeSamplingParams:
    """``vllm.SamplingParams`` as far as the backend uses it, with vLLM 0.33's checks
    (``vllm/sampling_params.py``): temperature finite and in [0, 2], (0, 0.01) raised to 0.01 before the
    greedy test (< 1e-5), where n > 1 is refused; the seed goes to a ``torch.Generator`` as vLLM's
    per-request generators do, which refuses what they would."""

    def __init__(self, *, n, temperature, top_p, max_tokens, stop_token_ids, seed, detokenize, top_k=0):
        t = float(temperature)
        if not math.isfinite(t) or t < 0 or t > 2:
            raise ValueError(f"temperature must be in [0, 2], got {t}.")
        if 0 < t < 0.01:
            t = 0.01  # vLLM warns and samples at 0.01
        if t < 1e-5 and n > 1:
            raise ValueError(f"n must be 1 when using greedy sampling, got {n}.")
        if seed is not None:
            torch.Generator().manual_seed(seed)
        self.n, self.temperature, self.top_p, self.top_k, self.seed = n, t, top_p, top_k, seed
        self.max_tokens, self.stop_token_ids, self.detokenize = max_tokens, stop_token_ids, detokenize


class FakeModule:
    """The engine's ``nn.Module``: ``load_weights`` keeps copies of what it is given."""

    def __init__(self):
        self.weights: dict[str, torch.Tensor] = {}

    def load_weights(self, weights):
        loaded = set()
        for name, tensor in weights:
            self.weights[name] = tensor.detach().clone()
            loaded.add(name)
        return loaded


class FakeEngineCore:
    """``llm.llm_engine.engine_core``: the in-process client, whose ``shutdown`` releases the engine."""

    def __init__(self, llm):
        self.llm = llm

    def shutdown(self):
        if self.llm.shut_down:
            raise AssertionError("engine core shut down twice (vLLM 0.10's client does not guard this)")
        self.llm.shut_down = True
        self.llm.calls.append("shutdown")
        if FakeLLM.live is self.llm:
            FakeLLM.live = None


class FakeLLM:
    """Stand-in for ``vllm.LLM`` that records the backend's calls and refuses what vLLM refuses:

    - ``seed`` outside 0 .. 2**32 - 1 (it reaches ``np.random.seed``);
    - ``LOCAL_RANK`` that is not a visible GPU (0.33: ``assert local_rank < device_count``);
    - a second engine while one is alive: vLLM's sleep-mode allocator admits one engine's weights per
      process until the first is shut down (``llm.llm_engine.engine_core.shutdown()``);
    - touching memory that sleeps: weights through ``apply_model`` while ``weights`` sleep, ``generate``
      while anything sleeps, waking memory that is awake, sleeping without sleep mode.
    """

    live: FakeLLM | None = None

    def __init__(self, model, *, seed, enable_sleep_mode, distributed_executor_backend, **kwargs):
        np.random.RandomState(seed)  # the range np.random.seed accepts
        local_rank = int(os.environ["LOCAL_RANK"])
        if not local_rank < torch.cuda.device_count():
            raise AssertionError(
                f"local rank {local_rank} is out of bounds for {torch.cuda.device_count()} devices."
            )
        if FakeLLM.live is not None:
            raise AssertionError("CuMem allocator can only be used for one instance per process.")
        assert distributed_executor_backend == "external_launcher"
        assert (Path(model) / "config.json").is_file()
        self.seed, self.local_rank, self.sleep_mode, self.kwargs = seed, local_rank, enable_sleep_mode, kwargs
        self.calls: list[str] = []
        self.seeds: list[list[int]] = []
        self.sleeping: set[str] = set()
        self.shut_down = False
        self.module = FakeModule()
        self.llm_engine = types.SimpleNamespace(engine_core=FakeEngineCore(self))
        FakeLLM.live = self

    def _alive(self):
        if self.shut_down:
            raise AssertionError("engine used after shutdown")

    def wake_up(self, tags=None):
        self._alive()
        tags = list(tags) if tags is not None else ["weights", "kv_cache"]
        if not set(tags) <= self.sleeping:
            raise AssertionError(f"woke {tags} while only {sorted(self.sleeping)} sleep")
        self.sleeping -= set(tags)
        self.calls.append(f"wake_up{tags}")

    def sleep(self, level=1):
        self._alive()
        assert self.sleep_mode, "sleep mode is not enabled"
        self.sleeping = {"weights", "kv_cache"}
        self.calls.append(f"sleep({level})")

    def apply_model(self, fn):
        self._alive()
        if "weights" in self.sleeping:
            raise AssertionError("weights read or written while asleep: their GPU memory is unmapped")
        self.calls.append("apply_model")
        return [fn(self.module)]

    def reset_prefix_cache(self):
        self._alive()
        self.calls.append("reset_prefix_cache")

    def generate(self, inputs, params, use_tqdm=True):
        self._alive()
        if self.sleeping:
            raise AssertionError(f"generate while {sorted(self.sleeping)} sleep")
        assert all(isinstance(p, FakeSamplingParams) for p in params)
        self.calls.append("generate")
        self.seeds.append([p.seed for p in params])
        return [
            FakeRequestOutput(
                str(i), x["prompt_token_ids"], [FakeCompletion(j, [EOS], "stop") for j in range(p.n)]
            )
            for i, (x, p) in enumerate(zip(inputs, params))
        ]


FAKE_VLLM = types.SimpleNamespace(LLM=FakeLLM, SamplingParams=FakeSamplingParams)


@pytest.fixture
def fake_vllm(monkeypatch):
    """``vllm`` replaced by the stand-ins, ``gpus`` visible GPUs (default 1) with ``current`` the current one,
    the launcher's variables restored afterwards. Returns a function that sets the GPU layout."""
    import maxrl_rs.rollout.vllm as module

    monkeypatch.setattr(module, "require_vllm", lambda: FAKE_VLLM)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    for key, value in (
        ("RANK", "0"),
        ("WORLD_SIZE", "1"),
        ("MASTER_ADDR", "127.0.0.1"),
        ("MASTER_PORT", "1"),
    ):
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    monkeypatch.delenv("LOCAL_RANK", raising=False)

    def gpus(count=1, current=0):
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
        monkeypatch.setattr(torch.cuda, "current_device", lambda: current)

    gpus()
    FakeLLM.live = None
    yield gpus
    FakeLLM.live = None


def _fake_backend(model, tok, **kwargs):
    """A VLLMBackend built by its own ``__init__`` on the stand-in engine; rollouts stay on the CPU here."""
    backend = VLLMBackend(model, tok, **kwargs)
    backend._device = torch.device("cpu")
    return backend, backend.llm


def test_weights_load_between_a_staged_wake_and_the_engine_sleeps_after_sampling(fake_vllm):
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


def test_evaluations_sample_under_their_own_seed_not_the_last_training_step(fake_vllm):
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


def test_one_engine_serves_models_of_its_architecture(fake_vllm):
    from maxrl_rs.models import TinyModelSpec, tiny_model

    model, tok, _ = _tiny_maze_model()
    backend, _ = _fake_backend(model, tok)
    backend._pending = None
    torch.manual_seed(1)
    same = tiny_model(TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tok)
    assert backend.reuse_for(same, tok) and backend._pending is same  # loaded at the next rollout
    wider = tiny_model(TinyModelSpec(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=32), tok)
    assert not backend.reuse_for(wider, tok)


def test_stand_in_refuses_what_vllm_refuses(fake_vllm, tmp_path):
    """The stand-in is only worth testing against if it enforces vLLM's rules."""
    (tmp_path / "config.json").write_text("{}")
    kw = {"enable_sleep_mode": True, "distributed_executor_backend": "external_launcher"}
    os.environ["LOCAL_RANK"] = "0"
    with pytest.raises(ValueError):
        FakeLLM(str(tmp_path), seed=2**32, **kw)  # np.random.seed's range
    with pytest.raises(ValueError):
        FakeLLM(str(tmp_path), seed=-1, **kw)
    os.environ["LOCAL_RANK"] = "1"
    with pytest.raises(AssertionError, match="out of bounds for 1 devices"):
        FakeLLM(str(tmp_path), seed=0, **kw)
    os.environ["LOCAL_RANK"] = "0"
    first = FakeLLM(str(tmp_path), seed=2**32 - 1, **kw)
    with pytest.raises(AssertionError, match="one instance per process"):
        FakeLLM(str(tmp_path), seed=0, **kw)
    first.sleep()
    with pytest.raises(AssertionError, match="asleep"):
        first.apply_model(lambda m: m.weights)
    with pytest.raises(AssertionError, match="generate while"):
        first.generate([], [])
    first.wake_up(["weights"])
    with pytest.raises(AssertionError, match="woke"):
        first.wake_up(["weights"])
    first.llm_engine.engine_core.shutdown()
    with pytest.raises(AssertionError, match="twice"):
        first.llm_engine.engine_core.shutdown()
    FakeLLM(str(tmp_path), seed=0, **kw)  # the first was shut down: a new engine may start
    base = {"top_p": 1.0, "max_tokens": 4, "stop_token_ids": [EOS], "detokenize": False}
    for bad in (2.01, -0.5, math.inf, math.nan):
        with pytest.raises(ValueError, match="temperature"):
            FakeSamplingParams(n=1, temperature=bad, seed=None, **base)
    with pytest.raises(ValueError, match="greedy"):
        FakeSamplingParams(n=2, temperature=0.0, seed=None, **base)
    assert FakeSamplingParams(n=2, temperature=0.005, seed=None, **base).temperature == 0.01
    with pytest.raises((RuntimeError, ValueError)):
        FakeSamplingParams(n=1, temperature=1.0, seed=2**64, **base)


@pytest.mark.parametrize(
    ("local_rank", "gpus", "current", "engine_rank"),
    [
        ("3", 1, 0, 0),  # a launcher that shows rank 3 only its own GPU
        ("1", 2, 1, 1),  # every GPU visible: LOCAL_RANK is already the index
        (None, 2, 1, 1),  # one process on cuda:1 (device=cuda:1): not cuda:0
        ("5", 4, 1, 1),  # LOCAL_RANK mod visible GPUs
    ],
)
def test_engine_is_built_on_the_training_gpu(fake_vllm, local_rank, gpus, current, engine_rank):
    fake_vllm(count=gpus, current=current)
    if local_rank is not None:
        os.environ["LOCAL_RANK"] = local_rank
    model, tok, _ = _tiny_maze_model()
    backend, engine = _fake_backend(model, tok)
    assert engine.local_rank == engine_rank
    assert os.environ.get("LOCAL_RANK") == local_rank  # the launcher's value is back for everyone else
    backend.close()


def test_engine_device_follows_the_model_and_refuses_an_invisible_gpu(fake_vllm):
    from maxrl_rs.rollout.vllm import engine_device_index, engine_local_rank

    fake_vllm(count=2, current=0)
    on_gpu1 = types.SimpleNamespace(
        parameters=lambda: iter([types.SimpleNamespace(device=torch.device("cuda", 1))])
    )
    assert engine_device_index(on_gpu1) == 1
    assert engine_device_index(types.SimpleNamespace(module=on_gpu1)) == 1  # DDP-wrapped
    model, _, _ = _tiny_maze_model()
    assert engine_device_index(model) == 0  # a CPU model: the current device
    with pytest.raises(maxrl_rs.ConfigError, match=r"cuda:2 but 2 GPU\(s\) are visible"):
        with engine_local_rank(2):
            pass
    assert "LOCAL_RANK" not in os.environ


@pytest.mark.parametrize(
    ("seed", "expected"),
    [(0, 0), (2**32 - 1, 2**32 - 1), (2**32, 0), (2**40 + 5, 5), (-1, 2**32 - 1), (-(2**33) + 7, 7)],
)
def test_engine_seed_is_reduced_into_numpys_range(fake_vllm, seed, expected):
    from maxrl_rs.rollout.vllm import engine_seed

    assert engine_seed(seed) == expected
    model, tok, task = _tiny_maze_model()
    backend, engine = _fake_backend(model, tok, seed=seed)
    assert engine.seed == expected
    # The per-prompt seeds stay in every per-request generator's range, whatever the run seed and step.
    backend.set_seed_key(seed, 2**40)
    backend.generate(
        [task.prompt_ids(task.train_example(0), tok)], [2**50], SamplingParams(n=2, max_new_tokens=4)
    )
    (prompt,) = engine.seeds[-1]
    assert 0 <= prompt < 2**31
    backend.close()


@pytest.mark.parametrize("temperature", [0.0, 0.01, 0.3, 1.0, 2.0])
def test_every_accepted_temperature_is_one_vllm_samples_at(fake_vllm, temperature):
    from maxrl_rs.rollout.vllm import check_temperature

    check_temperature(temperature)
    for n in (1, 4):
        kw = vllm_sampling_kwargs(
            SamplingParams(n=n, temperature=temperature, max_new_tokens=4), eos_ids=[EOS], seed=1
        )
        params = FakeSamplingParams(**kw)
        assert params.temperature == temperature  # not raised to vLLM's floor
        assert params.n == (1 if temperature == 0 else n)


@pytest.mark.parametrize("temperature", [1e-6, 1e-5, 0.005, 0.0099, 2.0001, 5.0, -0.1, math.inf, math.nan])
def test_temperatures_vllm_would_change_or_refuse_are_config_errors(fake_vllm, temperature):
    from maxrl_rs.config import load_config
    from maxrl_rs.rollout.vllm import check_temperature

    with pytest.raises(maxrl_rs.ConfigError, match=r"^temperature: with rollout.backend=vllm"):
        check_temperature(temperature)
    for key in ("rollout.temperature", "eval.temperature"):
        if temperature < 0 or math.isnan(temperature):
            continue  # refused for every backend, by the general check
        with pytest.raises(
            maxrl_rs.ConfigError, match=rf"{key}: with rollout.backend=vllm .* got {temperature}"
        ):
            load_config(None, ["rollout.backend=vllm", f"{key}={temperature}"])
        load_config(None, ["rollout.backend=hf", f"{key}={temperature}"])  # the HF backend takes any
    # At run time too (``maxrl eval --temperature``), before the engine is touched.
    model, tok, task = _tiny_maze_model()
    backend, engine = _fake_backend(model, tok)
    with pytest.raises(maxrl_rs.ConfigError, match="temperature"):
        backend.generate(
            [task.prompt_ids(task.train_example(0), tok)], [0], SamplingParams(temperature=temperature)
        )
    assert engine.calls == []
    backend.close()


def test_greedy_rollouts_ask_for_one_response_and_repeat_it(fake_vllm):
    model, tok, task = _tiny_maze_model()
    backend, engine = _fake_backend(model, tok)
    prompts = [task.prompt_ids(task.train_example(i), tok) for i in range(2)]
    r = backend.generate(prompts, [0, 1], SamplingParams(n=3, temperature=0.0, max_new_tokens=4))
    assert len(r) == 6 and r.group_ids.tolist() == [0, 0, 0, 1, 1, 1]
    assert engine.calls.count("generate") == 1  # the stand-in refuses n > 1 at temperature 0
    assert r.response_ids[:3].tolist() == [r.response_ids[0].tolist()] * 3
    backend.close()


def test_weights_are_read_awake_after_sampling_put_the_engine_to_sleep(fake_vllm):
    """What the GPU test does, on the stand-in: sampling leaves the engine asleep, and a read of its weights
    must wake them first (vLLM unmaps sleeping memory)."""
    model, tok, task = _tiny_maze_model()
    backend, engine = _fake_backend(model, tok)
    prompts = [task.prompt_ids(task.train_example(0), tok)]
    sampling = SamplingParams(n=2, max_new_tokens=4)
    backend.generate(prompts, [0], sampling)
    with pytest.raises(AssertionError, match="asleep"):
        engine.apply_model(lambda m: m.weights["model.norm.weight"])
    with torch.no_grad():
        model.model.norm.weight.fill_(0.5)
    backend.sync_weights(model)
    engine.calls.clear()
    (norm,) = backend.apply_model(lambda m: m.weights["model.norm.weight"].clone())
    assert torch.equal(norm, torch.full_like(norm, 0.5))  # the pending weights were loaded for the read
    assert engine.calls == ["wake_up['weights']", "apply_model", "reset_prefix_cache", "apply_model"]
    engine.calls.clear()
    backend.generate(prompts, [0], sampling)  # weights already awake: only the KV cache wakes
    assert engine.calls == ["wake_up['kv_cache']", "generate", "sleep(1)"]
    backend.close()


def test_without_sleep_mode_the_engine_never_sleeps(fake_vllm):
    model, tok, task = _tiny_maze_model()
    backend, engine = _fake_backend(model, tok, options=VLLMOptions(sleep=False))
    prompts = [task.prompt_ids(task.train_example(0), tok)]
    for _ in range(2):
        backend.sync_weights(model)
        backend.generate(prompts, [0], SamplingParams(n=2, max_new_tokens=4))
    assert not any(c.startswith(("sleep", "wake_up")) for c in engine.calls)
    backend.close()


def test_close_shuts_the_engine_down_once_so_another_can_start(fake_vllm):
    """``maxrl eval`` over runs of different architectures closes one engine and builds the next."""
    from maxrl_rs.models import TinyModelSpec, tiny_model

    model, tok, task = _tiny_maze_model()
    backend, engine = _fake_backend(model, tok)
    config_dir = Path(backend._config_dir.name)
    backend.generate(
        [task.prompt_ids(task.train_example(0), tok)], [0], SamplingParams(n=2, max_new_tokens=4)
    )
    with pytest.raises(AssertionError, match="one instance per process"):
        _fake_backend(model, tok)  # the first is still alive
    backend.close()
    assert engine.calls[-1] == "shutdown" and FakeLLM.live is None
    assert not config_dir.exists()
    backend.close()  # again: nothing is shut down twice
    assert engine.calls.count("shutdown") == 1
    wider = tiny_model(TinyModelSpec(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=32), tok)
    other, second = _fake_backend(wider, tok)
    assert second is not engine and FakeLLM.live is second
    other.close()


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
    check_options(VLLMOptions(), {"rollout.temperature": 1.0, "eval.temperature": 0.0})
    with pytest.raises(maxrl_rs.ConfigError, match=r"^eval\.temperature: .* got 3\.0$"):
        check_options(VLLMOptions(), {"rollout.temperature": 1.0, "eval.temperature": 3.0})


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
        # generate() left the engine asleep (its weights unmapped): backend.apply_model wakes them to read.
        (norm,) = backend.apply_model(lambda m: m.model.norm.weight.float().cpu().clone())
        assert torch.allclose(norm, torch.full_like(norm, 0.5))
        greedy = backend.generate(prompts[:1], [0], SamplingParams(n=3, temperature=0.0, max_new_tokens=8))
        assert len({tuple(row) for row in greedy.response_ids.tolist()}) == 1
    finally:
        backend.close()
    backend.close()  # twice is safe
    # The first engine is shut down: a second one (another architecture) can start in this process.
    wider = tiny_model(TinyModelSpec(hidden_size=128), tok).cuda()
    other = VLLMBackend(wider, tok, options=VLLMOptions(gpu_memory_utilization=0.2), seed=2**40)
    try:
        assert len(other.generate(prompts[:1], [0], sampling)) == 4
    finally:
        other.close()
